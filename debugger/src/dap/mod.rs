//! The Debug Adapter Protocol over a reader and a writer.

pub mod framing;
pub mod session;

pub use session::serve;
