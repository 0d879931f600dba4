//! The institution tree: listing what a login may see, creating and renaming institutions.
//!
//! `api` holds the server functions; `tree` the tree, `forms` the forms above the tabs.

mod api;
mod forms;
mod tree;

pub use api::*;
pub use forms::InstitutionForms;
pub use tree::InstitutionTree;
