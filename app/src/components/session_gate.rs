use crate::error::AppError;

/// Where to send someone whose request was refused for lack of a live session.
pub fn signin_path_for(error: &AppError) -> &'static str {
    match error {
        AppError::SignedInElsewhere => "/signin?ended=elsewhere",
        _ => "/signin",
    }
}

/// True when the error means the person must sign in again.
pub fn needs_signin(error: &AppError) -> bool {
    matches!(error, AppError::NotSignedIn | AppError::SignedInElsewhere)
}
