//! message/cpim (RFC 3862) with the IMDN namespace (RFC 5438).
