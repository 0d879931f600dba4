//! The scanner's camera: the rear camera into a `<video>`, and the codes read from it.
//!
//! Browsers with a native `BarcodeDetector` (Chrome on Android, Safari 17+ with a flag…) read
//! each animation frame with it. Elsewhere (Chromium on desktop Linux, Firefox…) frames are
//! grabbed ten times a second, turned grey and sent to `/decoder-worker.js`, which runs the
//! `decoder` crate (rxing in WASM); that worker, and so the decoder, loads only once a camera
//! starts.

/// How long the same code, seen again, still counts as the same reading.
pub const REPEAT_WINDOW_MS: f64 = 2_000.0;

/// Why the camera could not start, in words a steward can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    #[error("This browser cannot use a camera here: open the scanner over https:// in an up-to-date Chrome, Safari or Firefox.")]
    Unsupported,
    #[error("Camera access was refused: allow the camera for this site in the browser's settings (the icon next to the address), then try again.")]
    PermissionDenied,
    #[error("No camera was found on this device: connect one, or use another device.")]
    NoCamera,
    #[error("The camera is in use by another app or tab: close it, then try again.")]
    Busy,
    #[error("The camera did not start ({0}): reload the page and try again.")]
    Failed(String),
}

/// Counts a code once however many frames show it: the same code seen again less than
/// `window_ms` after its last sighting is a repeat (a ticket held under the camera stays one
/// reading until it has been out of sight for that long).
#[derive(Debug, Clone)]
pub struct RepeatFilter {
    window_ms: f64,
    recent: Vec<(String, f64)>,
}

impl RepeatFilter {
    pub fn new(window_ms: f64) -> Self {
        Self { window_ms, recent: Vec::new() }
    }

    /// Whether `code`, seen at `now_ms`, is a new reading.
    pub fn accept(&mut self, code: &str, now_ms: f64) -> bool {
        self.recent.retain(|(_, seen)| now_ms - seen < self.window_ms);
        match self.recent.iter_mut().find(|(recent, _)| recent == code) {
            Some((_, seen)) => {
                *seen = now_ms;
                false
            }
            None => {
                self.recent.push((code.to_owned(), now_ms));
                true
            }
        }
    }
}

#[cfg(feature = "hydrate")]
pub use browser::Camera;

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::{JsFuture, spawn_local};
    use web_sys::{
        CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream, MediaStreamConstraints,
        MediaStreamTrack, MessageEvent, Worker, WorkerOptions, WorkerType,
    };

    use super::{CameraError, REPEAT_WINDOW_MS, RepeatFilter};

    /// BarcodeDetector's names of the formats tickets carry; it is used only when it knows
    /// the first two (our QR codes and Ticketnet's Code 128).
    const NATIVE_FORMATS: [&str; 6] = ["qr_code", "code_128", "ean_13", "aztec", "pdf417", "data_matrix"];
    /// At most one frame to the worker every this many milliseconds (it decodes in ~10 ms).
    const WORKER_FRAME_MS: f64 = 100.0;
    /// After the decoder failed, wait this long before a fresh worker tries again.
    const WORKER_RETRY_MS: f64 = 1_000.0;
    /// Larger camera frames are scaled down: decoding time grows with the pixel count.
    const MAX_FRAME_SIDE: u32 = 1280;
    /// `HTMLMediaElement.HAVE_CURRENT_DATA`: the video has a frame to read.
    const HAVE_CURRENT_DATA: u16 = 2;

    /// The running camera. Dropping it, or [`Camera::stop`], stops the camera and the decoder.
    pub struct Camera {
        shared: Rc<Shared>,
    }

    impl Camera {
        /// Starts the rear camera (or the only one) into `video` and calls `on_code` with each
        /// code read, the same code within two seconds counting once.
        pub async fn start(video: HtmlVideoElement, on_code: impl FnMut(String) + 'static) -> Result<Self, CameraError> {
            let stream = open_stream().await?;
            video.set_muted(true);
            // iOS Safari would otherwise open the stream in its full-screen player.
            let _ = video.set_attribute("playsinline", "");
            video.set_src_object(Some(&stream));
            let reader = match native_detector().await {
                Some(detector) => Reader::Native(detector),
                None => Reader::Worker(WorkerReader::new().map_err(|e| {
                    stop_tracks(&stream);
                    CameraError::Failed(describe(&e))
                })?),
            };
            let shared = Rc::new(Shared { video, stream, reader, stopped: Cell::new(false) });
            if let Ok(play) = shared.video.play() {
                // Muted, it may play without a tap; if still refused, frames wait for the page's
                // own play() on a tap.
                let _ = JsFuture::from(play).await;
            }
            spawn_local(read_codes(shared.clone(), Box::new(on_code)));
            Ok(Self { shared })
        }

        /// Stops the camera (its light goes off) and the decoder; `on_code` is not called again.
        pub fn stop(&self) {
            self.shared.stop();
        }
    }

    impl Drop for Camera {
        fn drop(&mut self) {
            self.shared.stop();
        }
    }

    struct Shared {
        video: HtmlVideoElement,
        stream: MediaStream,
        reader: Reader,
        stopped: Cell<bool>,
    }

    impl Shared {
        fn stop(&self) {
            if self.stopped.replace(true) {
                return;
            }
            stop_tracks(&self.stream);
            self.video.set_src_object(None);
            if let Reader::Worker(worker) = &self.reader {
                worker.stop();
            }
        }
    }

    enum Reader {
        /// A `BarcodeDetector` instance.
        Native(JsValue),
        Worker(WorkerReader),
    }

    /// The loop of the scanner: one frame read at a time, until stopped.
    async fn read_codes(shared: Rc<Shared>, mut on_code: Box<dyn FnMut(String)>) {
        let mut repeats = RepeatFilter::new(REPEAT_WINDOW_MS);
        let mut next_frame_at = 0.0;
        let mut canvas = None;
        while !shared.stopped.get() {
            let now = next_animation_frame().await;
            if shared.stopped.get() {
                break;
            }
            if shared.video.ready_state() < HAVE_CURRENT_DATA || now < next_frame_at {
                continue;
            }
            let codes = match &shared.reader {
                Reader::Native(detector) => detect_natively(detector, &shared.video).await,
                Reader::Worker(worker) => {
                    next_frame_at = now + WORKER_FRAME_MS;
                    let Some(frame) = grab_grey_frame(&shared.video, &mut canvas) else { continue };
                    match worker.decode(frame).await {
                        Decoded::Text(text) => vec![text],
                        Decoded::Nothing => Vec::new(),
                        Decoded::Failed => {
                            next_frame_at = now + WORKER_RETRY_MS;
                            Vec::new()
                        }
                    }
                }
            };
            // The page may stop the camera from `on_code`, or may have while we waited.
            for code in codes {
                if shared.stopped.get() {
                    break;
                }
                if repeats.accept(&code, js_sys::Date::now()) {
                    on_code(code);
                }
            }
        }
    }

    async fn open_stream() -> Result<MediaStream, CameraError> {
        let window = web_sys::window().ok_or(CameraError::Unsupported)?;
        let navigator = window.navigator();
        // Outside a secure context (http:// other than localhost) there is no mediaDevices.
        let devices = Reflect::get(&navigator, &"mediaDevices".into()).map_err(|_| CameraError::Unsupported)?;
        if devices.is_undefined() {
            return Err(CameraError::Unsupported);
        }
        let devices: web_sys::MediaDevices = devices.unchecked_into();
        let video = Object::new();
        // An ideal, not exact, facing mode: a laptop's only (front) camera still does.
        let _ = Reflect::set(&video, &"facingMode".into(), &"environment".into());
        let constraints = MediaStreamConstraints::new();
        constraints.set_video(&video);
        constraints.set_audio_bool(false);
        let request = devices.get_user_media_with_constraints(&constraints).map_err(camera_error)?;
        let stream = JsFuture::from(request).await.map_err(camera_error)?;
        stream.dyn_into().map_err(|e| CameraError::Failed(describe(&e)))
    }

    /// getUserMedia's DOMException names, as steward-actionable errors.
    fn camera_error(error: JsValue) -> CameraError {
        let name = Reflect::get(&error, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "SecurityError" => CameraError::PermissionDenied,
            "NotFoundError" | "OverconstrainedError" => CameraError::NoCamera,
            "NotReadableError" | "AbortError" => CameraError::Busy,
            _ => CameraError::Failed(describe(&error)),
        }
    }

    fn describe(error: &JsValue) -> String {
        error
            .as_string()
            .or_else(|| Reflect::get(error, &"message".into()).ok().and_then(|m| m.as_string()))
            .unwrap_or_else(|| format!("{error:?}"))
    }

    fn stop_tracks(stream: &MediaStream) {
        for track in stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                track.stop();
            }
        }
    }

    /// Resolves with the frame's timestamp at the browser's next repaint.
    async fn next_animation_frame() -> f64 {
        let frame = Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.request_animation_frame(&resolve);
            }
        });
        JsFuture::from(frame).await.ok().and_then(|t| t.as_f64()).unwrap_or_default()
    }

    /// A `BarcodeDetector` for the tickets' formats, when the browser has one that reads at
    /// least QR codes and Code 128 (web-sys has no bindings for it: reached by reflection).
    async fn native_detector() -> Option<JsValue> {
        let window = web_sys::window()?;
        if !Reflect::has(&window, &"BarcodeDetector".into()).unwrap_or(false) {
            return None;
        }
        let class: Function = Reflect::get(&window, &"BarcodeDetector".into()).ok()?.dyn_into().ok()?;
        let supported: Function = Reflect::get(&class, &"getSupportedFormats".into()).ok()?.dyn_into().ok()?;
        let supported: Promise = supported.call0(&class).ok()?.dyn_into().ok()?;
        let supported: Array = JsFuture::from(supported).await.ok()?.dyn_into().ok()?;
        let knows = |format: &str| supported.includes(&format.into(), 0);
        if !(knows("qr_code") && knows("code_128")) {
            return None;
        }
        let formats: Array = NATIVE_FORMATS.iter().filter(|f| knows(f)).map(|f| JsValue::from_str(f)).collect();
        let options = Object::new();
        Reflect::set(&options, &"formats".into(), &formats).ok()?;
        Reflect::construct(&class, &Array::of1(&options)).ok()
    }

    /// The raw values of the codes `detector` sees in the video's current frame.
    async fn detect_natively(detector: &JsValue, video: &HtmlVideoElement) -> Vec<String> {
        let found = async {
            let detect: Function = Reflect::get(detector, &"detect".into()).ok()?.dyn_into().ok()?;
            let found: Promise = detect.call1(detector, video).ok()?.dyn_into().ok()?;
            let found: Array = JsFuture::from(found).await.ok()?.dyn_into().ok()?;
            Some(
                found
                    .iter()
                    .filter_map(|code| Reflect::get(&code, &"rawValue".into()).ok()?.as_string())
                    .collect(),
            )
        };
        found.await.unwrap_or_default()
    }

    struct GreyFrame {
        width: u32,
        height: u32,
        luma: Vec<u8>,
    }

    /// The video's current frame in 8-bit grey, drawn through a canvas kept between frames.
    fn grab_grey_frame(video: &HtmlVideoElement, canvas: &mut Option<(HtmlCanvasElement, CanvasRenderingContext2d)>) -> Option<GreyFrame> {
        let (video_width, video_height) = (video.video_width(), video.video_height());
        if video_width == 0 || video_height == 0 {
            return None;
        }
        let scale = (MAX_FRAME_SIDE as f64 / video_width.max(video_height) as f64).min(1.0);
        let width = ((video_width as f64 * scale) as u32).max(1);
        let height = ((video_height as f64 * scale) as u32).max(1);
        if canvas.is_none() {
            let element: HtmlCanvasElement = web_sys::window()?.document()?.create_element("canvas").ok()?.dyn_into().ok()?;
            let options = Object::new();
            // Read back every frame: keep the canvas in memory the CPU reads fast.
            let _ = Reflect::set(&options, &"willReadFrequently".into(), &true.into());
            let context = element.get_context_with_context_options("2d", &options).ok()??.dyn_into().ok()?;
            *canvas = Some((element, context));
        }
        let (element, context) = canvas.as_ref()?;
        if element.width() != width || element.height() != height {
            element.set_width(width);
            element.set_height(height);
        }
        context
            .draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, width as f64, height as f64)
            .ok()?;
        let rgba = context.get_image_data(0.0, 0.0, width as f64, height as f64).ok()?.data();
        // ITU-R BT.601 weights in 8-bit fixed point.
        let luma = rgba
            .chunks_exact(4)
            .map(|p| ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32) >> 8) as u8)
            .collect();
        Some(GreyFrame { width, height, luma })
    }

    enum Decoded {
        Text(String),
        Nothing,
        /// The worker's decoder trapped or did not load; the worker has closed.
        Failed,
    }

    /// `/decoder-worker.js`, one frame at a time; replaced by a fresh one after a failure.
    struct WorkerReader {
        worker: RefCell<Worker>,
        /// Resolves the frame in flight with the worker's answer (or `null` when stopped).
        pending: Rc<RefCell<Option<Function>>>,
        on_message: Closure<dyn FnMut(MessageEvent)>,
        next_id: Cell<u32>,
        /// The worker closed after a failure: the next frame goes to a fresh one.
        failed: Cell<bool>,
    }

    impl WorkerReader {
        fn new() -> Result<Self, JsValue> {
            let pending: Rc<RefCell<Option<Function>>> = Rc::default();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
                let pending = pending.clone();
                move |event: MessageEvent| {
                    if let Some(resolve) = pending.borrow_mut().take() {
                        let _ = resolve.call1(&JsValue::NULL, &event.data());
                    }
                }
            });
            let worker = spawn_worker(&on_message)?;
            Ok(Self { worker: RefCell::new(worker), pending, on_message, next_id: Cell::new(0), failed: Cell::new(false) })
        }

        async fn decode(&self, frame: GreyFrame) -> Decoded {
            // Replaced here rather than on failure, so that none starts once the camera stopped.
            if self.failed.get() {
                match spawn_worker(&self.on_message) {
                    Ok(fresh) => drop(self.worker.replace(fresh)),
                    Err(_) => return Decoded::Failed,
                }
                self.failed.set(false);
            }
            let id = self.next_id.get().wrapping_add(1);
            self.next_id.set(id);
            let luma = Uint8Array::from(frame.luma.as_slice()).buffer();
            let message = Object::new();
            for (key, value) in [
                ("id", JsValue::from(id)),
                ("width", frame.width.into()),
                ("height", frame.height.into()),
                ("luma", luma.clone().into()),
            ] {
                let _ = Reflect::set(&message, &key.into(), &value);
            }
            let answer = Promise::new(&mut |resolve, _| {
                *self.pending.borrow_mut() = Some(resolve);
            });
            if self.worker.borrow().post_message_with_transfer(&message, &Array::of1(&luma)).is_err() {
                self.pending.borrow_mut().take();
                self.failed.set(true);
                return Decoded::Failed;
            }
            let answer = JsFuture::from(answer).await.unwrap_or(JsValue::NULL);
            let field = |name: &str| Reflect::get(&answer, &name.into()).unwrap_or(JsValue::UNDEFINED);
            // A null answer: stopped while decoding.
            if answer.is_null() || field("id").as_f64() != Some(id as f64) {
                return Decoded::Nothing;
            }
            if field("failed").is_truthy() {
                self.failed.set(true);
                return Decoded::Failed;
            }
            match field("text").as_string() {
                Some(text) => Decoded::Text(text),
                None => Decoded::Nothing,
            }
        }

        fn stop(&self) {
            self.worker.borrow().terminate();
            // Lets `read_codes` finish instead of waiting forever for a terminated worker.
            if let Some(resolve) = self.pending.borrow_mut().take() {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
            }
        }
    }

    fn spawn_worker(on_message: &Closure<dyn FnMut(MessageEvent)>) -> Result<Worker, JsValue> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options("/decoder-worker.js", &options)?;
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Ok(worker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_seen_again_within_the_window_counts_once() {
        let mut repeats = RepeatFilter::new(REPEAT_WINDOW_MS);
        assert!(repeats.accept("02123456789012", 0.0));
        assert!(!repeats.accept("02123456789012", 100.0));
        assert!(!repeats.accept("02123456789012", 1_900.0));
    }

    #[test]
    fn a_code_held_in_view_stays_one_reading() {
        let mut repeats = RepeatFilter::new(REPEAT_WINDOW_MS);
        assert!(repeats.accept("A", 0.0));
        // Seen every 100 ms for ten seconds: each sighting extends the window.
        assert!((1..=100).all(|frame| !repeats.accept("A", frame as f64 * 100.0)));
    }

    #[test]
    fn a_code_out_of_sight_for_the_window_counts_again() {
        let mut repeats = RepeatFilter::new(REPEAT_WINDOW_MS);
        assert!(repeats.accept("A", 0.0));
        assert!(repeats.accept("A", 2_000.0));
    }

    #[test]
    fn different_codes_each_count() {
        let mut repeats = RepeatFilter::new(REPEAT_WINDOW_MS);
        assert!(repeats.accept("A", 0.0));
        assert!(repeats.accept("B", 10.0));
        assert!(!repeats.accept("A", 20.0));
        assert!(!repeats.accept("B", 30.0));
    }
}
