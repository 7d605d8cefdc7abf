//! The shapes most object calls share: one procedure, the handle plus a few plain arguments,
//! nothing or one field back. Each line names the libvirt API and the procedure it maps to
//! (`src/remote/remote_driver.c`'s table).
//!
//! Every method of the API is written once and emitted twice by [`twin`]: the blocking method
//! on `crate::<module>::Type` and the async one (same name, `async fn`) on
//! `crate::asynchronous::<module>::Type`. A body marks each call that waits on the daemon
//! with `aw!(…)`: nothing in the blocking method, `.await` in the async one; the handle and
//! connection types it names are the blocking ones in the first copy and the async ones in the
//! second (the names listed before `;`).

/// One description, two methods: `twin! { Connect, Domain; impl Domain { pub async fn f(&self) … } }`
/// emits `pub fn f` on the blocking `Domain` and `pub async fn f` on the async one (where
/// `Connect` and `Domain` name the async types). `local impl` is for methods that never wait
/// (accessors): they are plain `fn` on both.
macro_rules! twin {
    ($($n:ident),* ; impl $ty:ident { $( $(#[$m:meta])* $vis:vis async fn $name:ident ($($p:tt)*) $(-> $ret:ty)? $body:block )* }) => {
        const _: () = {
            #[allow(unused_macros)]
            macro_rules! aw { ($e:expr) => { $e }; }
            impl $ty { $( $(#[$m])* $vis fn $name($($p)*) $(-> $ret)? $body )* }
        };
        const _: () = {
            #[allow(unused_imports)]
            use crate::asynchronous::handles::{$($n),*};
            #[allow(unused_macros)]
            macro_rules! aw { ($e:expr) => { $e.await }; }
            impl $ty { $( $(#[$m])* $vis async fn $name($($p)*) $(-> $ret)? $body )* }
        };
    };
    ($($n:ident),* ; local impl $ty:ident { $( $(#[$m:meta])* $vis:vis fn $name:ident ($($p:tt)*) $(-> $ret:ty)? $body:block )* }) => {
        impl $ty { $( $(#[$m])* $vis fn $name($($p)*) $(-> $ret)? $body )* }
        const _: () = {
            #[allow(unused_imports)]
            use crate::asynchronous::handles::{$($n),*};
            impl $ty { $( $(#[$m])* $vis fn $name($($p)*) $(-> $ret)? $body )* }
        };
    };
}

/// Calls that change state and return nothing (refused on read-only connections).
macro_rules! obj_void {
    ($ty:ident . $field:ident; $($(#[$doc:meta])* $fn:ident($($a:ident: $aty:ty => $af:ident),*) = $proc:ident($args:ident) $api:literal;)*) => {
        crate::macros::twin! { $ty; impl $ty {
            $(
                $(#[$doc])*
                pub async fn $fn(&self $(, $a: $aty)*) -> Result<(), crate::error::Error> {
                    aw!(self.conn.call_rw::<proto_core::programs::remote::$proc>(
                        $api,
                        &proto_core::programs::remote::$args { $field: self.raw() $(, $af: $a.into())* },
                    ))
                }
            )*
        } }
    };
}

/// Queries answering an int read as a boolean.
macro_rules! obj_bool {
    ($ty:ident . $field:ident; $($(#[$doc:meta])* $fn:ident($($a:ident: $aty:ty => $af:ident),*) = $proc:ident($args:ident).$ret:ident;)*) => {
        crate::macros::twin! { $ty; impl $ty {
            $(
                $(#[$doc])*
                pub async fn $fn(&self $(, $a: $aty)*) -> Result<bool, crate::error::Error> {
                    let args = proto_core::programs::remote::$args { $field: self.raw() $(, $af: $a.into())* };
                    Ok(aw!(self.conn.call::<proto_core::programs::remote::$proc>(&args))?.$ret != 0)
                }
            )*
        } }
    };
}

/// Queries answering a string.
macro_rules! obj_string {
    ($ty:ident . $field:ident; $($(#[$doc:meta])* $fn:ident($($a:ident: $aty:ty => $af:ident),*) = $proc:ident($args:ident).$ret:ident;)*) => {
        crate::macros::twin! { $ty; impl $ty {
            $(
                $(#[$doc])*
                pub async fn $fn(&self $(, $a: $aty)*) -> Result<String, crate::error::Error> {
                    let args = proto_core::programs::remote::$args { $field: self.raw() $(, $af: $a.into())* };
                    Ok(aw!(self.conn.call::<proto_core::programs::remote::$proc>(&args))?.$ret.to_string())
                }
            )*
        } }
    };
}

/// The handle type's plumbing: the connection, the wire identity, `Debug`, `Clone`.
macro_rules! handle {
    ($conn:path; $(#[$doc:meta])* $ty:ident($raw:ident)) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $ty {
            pub(crate) conn: $conn,
            pub(crate) raw: proto_core::programs::remote::$raw,
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty)).field("raw", &self.raw).finish_non_exhaustive()
            }
        }

        impl $ty {
            pub(crate) fn from_raw(conn: &$conn, raw: proto_core::programs::remote::$raw) -> Self {
                Self { conn: conn.clone(), raw }
            }

            /// A handle for an object as the protocol names it (what typed calls through
            /// the connection's `client()` return); no call is made.
            pub fn from_remote(conn: &$conn, raw: proto_core::programs::remote::$raw) -> Self {
                Self::from_raw(conn, raw)
            }

            /// The protocol's name for this object, for typed calls.
            pub fn to_remote(&self) -> proto_core::programs::remote::$raw {
                self.raw.clone()
            }

            #[allow(dead_code)]
            pub(crate) fn raw(&self) -> proto_core::programs::remote::$raw {
                self.raw.clone()
            }

            /// The connection this object belongs to.
            pub fn connect(&self) -> Result<$conn, crate::error::Error> {
                Ok(self.conn.clone())
            }
        }
    };
}

pub(crate) use {handle, obj_bool, obj_string, obj_void, twin};
