//! Reports: what the partnership learns from feedback as a whole. It owns the
//! Friends and Family Test statistics (`feedbackStats`), with NHS England's
//! definitions of percent positive and negative and small-number suppression;
//! the monthly report for the partnership's Board (`hamlet report`); and the
//! CSV export and import of feedback (`hamlet export` and `hamlet import`)
//! for analysts and for historic paper returns.
//!
//! Statistics never hold free text or contact details, so ANALYST may read
//! them; the export holds free text but never contact details.

pub mod export;
pub mod graphql;
pub mod import;
pub mod model;
pub mod monthly;
pub mod store;
