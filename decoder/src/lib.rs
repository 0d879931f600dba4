//! The scanner's barcode decoder, built to WASM and run in `public/decoder-worker.js` on
//! browsers without a native `BarcodeDetector`.

use std::cell::RefCell;
use std::collections::HashSet;

use rxing::common::HybridBinarizer;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source, MultiFormatReader};
use wasm_bindgen::prelude::wasm_bindgen;

#[cfg(not(target_arch = "wasm32"))]
pub mod picture;

/// What tickets carry: Billetix's own QR codes, partners' Code 128 (Ticketnet) and EAN-13,
/// and the 2D symbols of airline-style and other resellers' tickets.
const FORMATS: [BarcodeFormat; 6] = [
    BarcodeFormat::QR_CODE,
    BarcodeFormat::CODE_128,
    BarcodeFormat::EAN_13,
    BarcodeFormat::AZTEC,
    BarcodeFormat::PDF_417,
    BarcodeFormat::DATA_MATRIX,
];

thread_local! {
    // Set up once: rxing's reader keeps its per-format readers between frames.
    static READER: RefCell<MultiFormatReader> = RefCell::new({
        let mut reader = MultiFormatReader::default();
        reader.set_hints(&DecodeHints {
            PossibleFormats: Some(HashSet::from(FORMATS)),
            TryHarder: Some(true),
            ..DecodeHints::default()
        });
        reader
    });
}

/// The text of the first code found in a `width`×`height` 8-bit grey image (row after row),
/// or `None` when there is none or the buffer does not have `width * height` bytes.
#[wasm_bindgen]
pub fn decode(width: u32, height: u32, luma: &[u8]) -> Option<String> {
    if width == 0 || height == 0 {
        return None;
    }
    let source = Luma8Source::new_with_slice(luma, width, height).ok()?;
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    READER
        .with_borrow_mut(|reader| reader.decode_with_state(&mut bitmap))
        .ok()
        .map(|found| found.getText().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::picture::frame;

    const WIDTH: u32 = 640;
    const HEIGHT: u32 = 480;

    fn round_trip(format: BarcodeFormat, text: &str) {
        let luma = frame(format, text, WIDTH, HEIGHT).expect("the test code renders");
        assert_eq!(
            decode(WIDTH, HEIGHT, &luma).as_deref(),
            Some(text),
            "{format}"
        );
    }

    #[test]
    fn reads_a_billetix_qr_code() {
        round_trip(BarcodeFormat::QR_CODE, "BTX1-7F3A9C2E-0042-5d1e8b");
    }

    #[test]
    fn reads_a_ticketnet_code_128() {
        round_trip(BarcodeFormat::CODE_128, "02123456789012");
    }

    #[test]
    fn reads_an_ean_13() {
        round_trip(BarcodeFormat::EAN_13, "4006381333931");
    }

    #[test]
    fn reads_an_aztec_code() {
        round_trip(BarcodeFormat::AZTEC, "M1DUPONT/JEAN EABC123 CDGNCEAF 7001");
    }

    #[test]
    fn reads_a_pdf417() {
        round_trip(BarcodeFormat::PDF_417, "SECUTIX-0001234567");
    }

    #[test]
    fn reads_a_data_matrix() {
        round_trip(BarcodeFormat::DATA_MATRIX, "DM-98765");
    }

    #[test]
    fn reads_a_dull_camera_picture() {
        // A real frame has grey blacks and whites, not 0 and 255.
        let luma: Vec<u8> = frame(BarcodeFormat::CODE_128, "02987654321098", WIDTH, HEIGHT)
            .expect("the test code renders")
            .into_iter()
            .map(|v| if v == 0 { 70 } else { 190 })
            .collect();
        assert_eq!(
            decode(WIDTH, HEIGHT, &luma).as_deref(),
            Some("02987654321098")
        );
    }

    #[test]
    fn finds_nothing_in_a_blank_frame() {
        assert_eq!(
            decode(WIDTH, HEIGHT, &vec![255; (WIDTH * HEIGHT) as usize]),
            None
        );
    }

    #[test]
    fn refuses_a_buffer_of_the_wrong_size() {
        assert_eq!(decode(WIDTH, HEIGHT, &[0; 100]), None);
        assert_eq!(decode(0, HEIGHT, &[]), None);
    }
}
