//! `ClientConnection` (in progress).
