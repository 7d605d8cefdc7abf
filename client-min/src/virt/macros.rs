//! The shapes most object calls share: one procedure, the handle plus a few plain arguments,
//! nothing or one field back. Each line names the libvirt API and the procedure it maps to
//! (`src/remote/remote_driver.c`'s table).

/// Calls that change state and return nothing (refused on read-only connections).
macro_rules! obj_void {
    ($ty:ident . $field:ident; $($(#[$doc:meta])* $fn:ident($($a:ident: $aty:ty => $af:ident),*) = $proc:ident($args:ident) $api:literal;)*) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $fn(&self $(, $a: $aty)*) -> Result<(), crate::error::Error> {
                    self.conn.call_rw::<proto_core::programs::remote::$proc>(
                        $api,
                        &proto_core::programs::remote::$args { $field: self.raw() $(, $af: $a.into())* },
                    )
                }
            )*
        }
    };
}

/// Queries answering an int read as a boolean.
macro_rules! obj_bool {
    ($ty:ident . $field:ident; $($(#[$doc:meta])* $fn:ident($($a:ident: $aty:ty => $af:ident),*) = $proc:ident($args:ident).$ret:ident;)*) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $fn(&self $(, $a: $aty)*) -> Result<bool, crate::error::Error> {
                    let args = proto_core::programs::remote::$args { $field: self.raw() $(, $af: $a.into())* };
                    Ok(self.conn.call::<proto_core::programs::remote::$proc>(&args)?.$ret != 0)
                }
            )*
        }
    };
}

/// Queries answering a string.
macro_rules! obj_string {
    ($ty:ident . $field:ident; $($(#[$doc:meta])* $fn:ident($($a:ident: $aty:ty => $af:ident),*) = $proc:ident($args:ident).$ret:ident;)*) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $fn(&self $(, $a: $aty)*) -> Result<String, crate::error::Error> {
                    let args = proto_core::programs::remote::$args { $field: self.raw() $(, $af: $a.into())* };
                    Ok(self.conn.call::<proto_core::programs::remote::$proc>(&args)?.$ret.to_string())
                }
            )*
        }
    };
}

/// The handle type's plumbing: the connection, the wire identity, `Debug`, `Clone`.
macro_rules! handle {
    ($(#[$doc:meta])* $ty:ident($raw:ident)) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $ty {
            conn: crate::connect::Connect,
            raw: proto_core::programs::remote::$raw,
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty)).field("raw", &self.raw).finish_non_exhaustive()
            }
        }

        impl $ty {
            pub(crate) fn from_raw(conn: &crate::connect::Connect, raw: proto_core::programs::remote::$raw) -> Self {
                Self { conn: conn.clone(), raw }
            }

            /// A handle for an object as the protocol names it (what typed calls through
            /// [`crate::connect::Connect::client`] return); no call is made.
            pub fn from_remote(conn: &crate::connect::Connect, raw: proto_core::programs::remote::$raw) -> Self {
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
            pub fn connect(&self) -> Result<crate::connect::Connect, crate::error::Error> {
                Ok(self.conn.clone())
            }
        }
    };
}

pub(crate) use {handle, obj_bool, obj_string, obj_void};
