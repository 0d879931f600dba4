//! Following the scans of some performances as the server records them (`/live`, server-sent
//! events).

use leptos::prelude::*;

use billetix_core::engine::PerformanceId;

/// Calls `on_scan` when a scan of one of `performances` is recorded, at most twice a second
/// however busy the doors are: one feed for each `LIVE_MAX_PERFORMANCES` of them, opened
/// again when the list changes and closed with the component.
pub fn use_live_scans(performances: Memo<Vec<PerformanceId>>, on_scan: impl Fn() + Copy + Send + Sync + 'static) {
    let pending = RwSignal::new(false);
    let throttled = move || {
        if !pending.get_untracked() {
            pending.set(true);
            set_timeout(
                move || {
                    pending.set(false);
                    on_scan();
                },
                std::time::Duration::from_millis(500),
            );
        }
    };
    Effect::new(move || follow(performances.get(), throttled));
}

fn follow(performances: Vec<PerformanceId>, on_scan: impl Fn() + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        for chunk in performances.chunks(crate::sync::protocol::LIVE_MAX_PERFORMANCES) {
            let ids: Vec<String> = chunk.iter().map(|p| p.to_string()).collect();
            let Ok(source) = web_sys::EventSource::new(&format!("/live?performances={}", ids.join(","))) else { return };
            let on_scan = on_scan.clone();
            let callback = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_: web_sys::MessageEvent| on_scan());
            let _ = source.add_event_listener_with_callback("scan", callback.as_ref().unchecked_ref());
            callback.forget();
            let source = send_wrapper::SendWrapper::new(source);
            on_cleanup(move || source.close());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (performances, on_scan);
    }
}
