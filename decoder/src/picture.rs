//! Codes drawn by rxing's own encoders into camera-sized grey frames: the input of the native
//! tests and of the fake camera's video (`ticket_y4m`).

use rxing::{BarcodeFormat, MultiFormatWriter, Writer};

const WHITE: u8 = 255;
const BLACK: u8 = 0;

#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("rxing cannot encode {text:?} as {format}: {cause}")]
    Encode {
        format: BarcodeFormat,
        text: String,
        cause: rxing::Exceptions,
    },
    #[error("the {format} code ({code_width}×{code_height}) does not fit a {width}×{height} frame")]
    TooLarge {
        format: BarcodeFormat,
        code_width: u32,
        code_height: u32,
        width: u32,
        height: u32,
    },
}

/// A `width`×`height` 8-bit grey frame (row after row), white, with `text` encoded as `format`
/// drawn large in its middle and its quiet zone kept white.
pub fn frame(
    format: BarcodeFormat,
    text: &str,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, PictureError> {
    // A frame's worth of code, with a white border around it like a ticket held in front of
    // the camera; barcodes are wide and short, 2D codes square.
    let (code_width, code_height) = match format {
        BarcodeFormat::QR_CODE | BarcodeFormat::AZTEC | BarcodeFormat::DATA_MATRIX => {
            let side = width.min(height) * 3 / 4;
            (side, side)
        }
        BarcodeFormat::PDF_417 => (width * 7 / 8, height / 2),
        _ => (width * 7 / 8, height / 3),
    };
    let matrix = MultiFormatWriter
        .encode(text, &format, code_width as i32, code_height as i32)
        .map_err(|cause| PictureError::Encode {
            format,
            text: text.to_owned(),
            cause,
        })?;
    let (matrix_width, matrix_height) = (matrix.getWidth(), matrix.getHeight());
    if matrix_width > width || matrix_height > height {
        return Err(PictureError::TooLarge {
            format,
            code_width: matrix_width,
            code_height: matrix_height,
            width,
            height,
        });
    }
    let (left, top) = ((width - matrix_width) / 2, (height - matrix_height) / 2);
    let mut luma = vec![WHITE; width as usize * height as usize];
    for y in 0..matrix_height {
        let row = (top + y) as usize * width as usize + left as usize;
        for x in 0..matrix_width {
            if matrix.get(x, y) {
                luma[row + x as usize] = BLACK;
            }
        }
    }
    Ok(luma)
}
