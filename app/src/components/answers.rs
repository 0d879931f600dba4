//! A page's writes are `ServerAction`s, as in the Leptos examples: its resources key on the
//! actions' `version()`, and its error line shows what the last answer said.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

/// Shows each answer of `action` on an error line: its error, or nothing once it succeeded.
pub fn show_answers<S>(action: ServerAction<S>, error: WriteSignal<Option<AppError>>)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    Effect::new(move || {
        action.value().with(|answer| {
            if let Some(answer) = answer {
                error.set(answer.as_ref().err().cloned());
            }
        })
    });
}

/// Runs `done` after each success of `action` (to empty a form, close an editor…).
pub fn on_success<S>(action: ServerAction<S>, done: impl Fn(&S::Output) + Send + Sync + 'static)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    Effect::new(move || {
        action.value().with(|answer| {
            if let Some(Ok(output)) = answer {
                done(output);
            }
        })
    });
}
