//! Hardware scanners that type like a keyboard ("keyboard wedge"): a burst of fast keystrokes
//! ending with Enter or Tab, caught on the whole page when no field has the focus.

/// A wedge scanner types a code in a few milliseconds; people type far slower.
const MAX_GAP_MS: f64 = 100.0;
/// Shorter bursts are stray keys, not codes.
const MIN_LENGTH: usize = 3;

/// Collects one burst of keys; pure, so its timing rules are tested natively.
#[derive(Debug, Default)]
pub struct WedgeBuffer {
    text: String,
    last_key_at: f64,
}

impl WedgeBuffer {
    /// Takes one key (`KeyboardEvent.key`) at a time in milliseconds; returns a finished code.
    pub fn key(&mut self, key: &str, at_ms: f64) -> Option<String> {
        if at_ms - self.last_key_at > MAX_GAP_MS {
            self.text.clear();
        }
        self.last_key_at = at_ms;
        match key {
            "Enter" | "Tab" => {
                let code = std::mem::take(&mut self.text);
                (code.chars().count() >= MIN_LENGTH).then_some(code)
            }
            // Printable keys are one character; Shift, F1… are names and add nothing.
            _ if key.chars().count() == 1 => {
                self.text.push_str(key);
                None
            }
            _ => None,
        }
    }
}

/// Calls `on_code` for each code a wedge scanner types while no input field has the focus
/// (typed entry in a field goes through that field's form).
#[cfg(feature = "hydrate")]
pub fn listen(on_code: impl Fn(String) + 'static) {
    use std::cell::RefCell;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::Closure;

    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let buffer = RefCell::new(WedgeBuffer::default());
    let handler = Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |event: web_sys::KeyboardEvent| {
        let in_field = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if in_field || event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let code = buffer.borrow_mut().key(&event.key(), event.time_stamp());
        if let Some(code) = code {
            // Tab would move the focus and Enter press a button: the code was the point.
            event.prevent_default();
            on_code(code);
        }
    });
    let _ = document.add_event_listener_with_callback("keydown", handler.as_ref().unchecked_ref());
    // The scanner page lives as long as the app does.
    handler.forget();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_burst(buffer: &mut WedgeBuffer, text: &str, start: f64, gap: f64) -> Option<String> {
        let mut at = start;
        for c in text.chars() {
            assert_eq!(buffer.key(&c.to_string(), at), None);
            at += gap;
        }
        buffer.key("Enter", at)
    }

    #[test]
    fn a_fast_burst_ending_with_enter_or_tab_is_a_code() {
        let mut buffer = WedgeBuffer::default();
        assert_eq!(type_burst(&mut buffer, "0212345678901", 1_000.0, 5.0), Some("0212345678901".to_owned()));
        assert_eq!(buffer.key("A", 2_000.0), None);
        assert_eq!(buffer.key("B", 2_004.0), None);
        assert_eq!(buffer.key("Shift", 2_006.0), None);
        assert_eq!(buffer.key("C", 2_008.0), None);
        assert_eq!(buffer.key("Tab", 2_012.0), Some("ABC".to_owned()));
    }

    #[test]
    fn slow_typing_and_stray_keys_are_not_codes() {
        let mut buffer = WedgeBuffer::default();
        assert_eq!(type_burst(&mut buffer, "12345", 1_000.0, 200.0), None);
        assert_eq!(buffer.key("Enter", 5_000.0), None);
        assert_eq!(type_burst(&mut buffer, "ab", 6_000.0, 5.0), None);
        // A pause starts a new burst: only what follows it counts.
        assert_eq!(buffer.key("x", 7_000.0), None);
        assert_eq!(type_burst(&mut buffer, "TICKET", 8_000.0, 5.0), Some("TICKET".to_owned()));
    }
}
