pub mod account;
pub mod backoffice;
pub mod home;
pub mod me;
// Temporary on branch camera-decoder, until the scanner page brings scanner/mod.rs.
pub mod scanner {
    pub mod camera;
}
pub mod signin;
