//! Writes a fake-camera video for Chromium (`--use-file-for-fake-video-capture`): a few
//! 640×480 frames showing one code, rendered by rxing's encoder, on a white background.
//!
//!   cargo run -p decoder --bin ticket_y4m -- --format qr|code128|ean13|aztec|pdf417|datamatrix --text ABC --out file.y4m

use std::io::Write;
use std::process::ExitCode;

use rxing::BarcodeFormat;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
/// Chromium loops the file; a few identical frames are enough for a still ticket.
const FRAMES: usize = 5;
const USAGE: &str = "usage: ticket_y4m --format qr|code128|ean13|aztec|pdf417|datamatrix --text TEXT --out FILE.y4m";

fn main() -> ExitCode {
    match run(std::env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let (mut format, mut text, mut out) = (None, None, None);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--format" => format = Some(parse_format(&value)?),
            "--text" => text = Some(value),
            "--out" => out = Some(value),
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    let (Some(format), Some(text), Some(out)) = (format, text, out) else {
        return Err(USAGE.to_owned());
    };
    let luma = decoder::picture::frame(format, &text, WIDTH, HEIGHT).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(&out).map_err(|e| format!("cannot create {out}: {e}"))?;
    write_y4m(std::io::BufWriter::new(file), &luma).map_err(|e| format!("cannot write {out}: {e}"))
}

fn parse_format(name: &str) -> Result<BarcodeFormat, String> {
    Ok(match name {
        "qr" => BarcodeFormat::QR_CODE,
        "code128" => BarcodeFormat::CODE_128,
        "ean13" => BarcodeFormat::EAN_13,
        "aztec" => BarcodeFormat::AZTEC,
        "pdf417" => BarcodeFormat::PDF_417,
        "datamatrix" => BarcodeFormat::DATA_MATRIX,
        _ => return Err(format!("unknown format {name}\n{USAGE}")),
    })
}

/// YUV4MPEG2 with 4:2:0 planes: the grey picture as Y, neutral chroma (128) for U and V.
fn write_y4m(mut out: impl Write, luma: &[u8]) -> std::io::Result<()> {
    let chroma = vec![128u8; (WIDTH as usize / 2) * (HEIGHT as usize / 2)];
    writeln!(out, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg")?;
    for _ in 0..FRAMES {
        out.write_all(b"FRAME\n")?;
        out.write_all(luma)?;
        out.write_all(&chroma)?;
        out.write_all(&chroma)?;
    }
    out.flush()
}
