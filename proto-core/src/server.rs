//! `ServerConnection` (in progress).
