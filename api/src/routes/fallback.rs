//! JSON answers for requests no route takes: an unknown path (404 `not_found`) and a known
//! path with the wrong method (405 `method_not_allowed`), so that every error has the
//! contract's shape.

use crate::error::ApiError;

/// No route has this path.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("No such endpoint.")
}

/// The path exists but not with this method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
