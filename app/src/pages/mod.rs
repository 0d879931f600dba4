pub mod account;
pub mod backoffice;
pub mod home;
pub mod scanner;
pub mod signin;
