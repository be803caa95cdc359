//! Connection metadata: the properties of READY and INITIATE (RFC 23).
//!
//! Each property is a name of up to 255 octets and a value of up to 2^32-1 octets.
//! Names are matched exactly, as libzmq matches them (`Socket-Type`, not
//! `socket-type`); when a name repeats, the first one counts, as in libzmq.

use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;

/// The property carrying the sender's socket type.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// The property carrying the sender's routing id.
pub const IDENTITY: &str = "Identity";

/// An ordered list of properties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    properties: Vec<(Bytes, Bytes)>,
}

impl Metadata {
    /// No properties.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Appends a property.
    ///
    /// # Panics
    /// If the name is empty or longer than 255 octets, or the value longer than
    /// 2^32-1 octets: such a property cannot be encoded.
    pub fn insert(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        let (name, value) = (name.into(), value.into());
        assert!(
            (1..=255).contains(&name.len()),
            "a metadata name has 1 to 255 octets"
        );
        assert!(
            u32::try_from(value.len()).is_ok(),
            "a metadata value has at most 2^32-1 octets"
        );
        self.properties.push((name, value));
    }

    /// The value of the first property named exactly `name`.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.properties
            .iter()
            .find(|(n, _)| n.as_ref() == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.properties.iter().map(|(n, v)| (n, v))
    }

    /// How many properties there are.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// Octets [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        self.properties
            .iter()
            .map(|(n, v)| 1 + n.len() + 4 + v.len())
            .sum()
    }

    /// Appends the wire form: for each property a name length octet, the name, a
    /// four-octet big-endian value length and the value.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        for (name, value) in &self.properties {
            dst.put_u8(name.len() as u8);
            dst.put_slice(name);
            dst.put_u32(value.len() as u32);
            dst.put_slice(value);
        }
    }

    /// Parses the wire form, slicing names and values out of `data` without copying.
    /// As in libzmq, a name may be empty, but a property cut short or a stray octet at
    /// the end is an error.
    pub fn parse(data: &Bytes) -> Result<Metadata, Error> {
        let mut properties = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let name_len = usize::from(data[at]);
            let name_end = at + 1 + name_len;
            let value_at = name_end + 4;
            let Some(len_octets) = data.get(name_end..value_at) else {
                return Err(Error::MalformedMetadata {
                    reason: "property cut short before its value length",
                });
            };
            let mut be = [0u8; 4];
            be.copy_from_slice(len_octets);
            let value_len = u32::from_be_bytes(be) as usize;
            let remaining = data.len() - value_at;
            if value_len > remaining {
                return Err(Error::MalformedMetadata {
                    reason: "property value runs past the end of the command",
                });
            }
            let value_end = value_at + value_len;
            properties.push((
                data.slice(at + 1..name_end),
                data.slice(value_at..value_end),
            ));
            at = value_end;
        }
        Ok(Metadata { properties })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_rfc23() {
        let mut m = Metadata::new();
        m.insert("Socket-Type", "REQ");
        m.insert("Identity", "");
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x0bSocket-Type\x00\x00\x00\x03REQ\x08Identity\x00\x00\x00\x00"
        );
        assert_eq!(out.len(), m.encoded_len());
        assert_eq!(Metadata::parse(&out.freeze()), Ok(m));
    }

    #[test]
    fn names_match_exactly_and_first_wins() {
        let mut m = Metadata::new();
        m.insert("Socket-Type", "PUB");
        m.insert("Socket-Type", "SUB");
        assert_eq!(m.get("Socket-Type").map(|v| &v[..]), Some(&b"PUB"[..]));
        assert_eq!(m.get("socket-type"), None);
    }

    #[test]
    fn truncation_and_stray_octets_are_errors() {
        let good = b"\x01X\x00\x00\x00\x01y";
        for cut in 1..good.len() {
            let data = Bytes::copy_from_slice(&good[..cut]);
            assert!(Metadata::parse(&data).is_err(), "cut at {cut}");
        }
        let mut stray = good.to_vec();
        stray.push(0);
        assert!(Metadata::parse(&Bytes::from(stray)).is_err());
    }

    #[test]
    fn huge_value_length_is_refused_without_allocating() {
        let data = Bytes::from_static(b"\x01X\xff\xff\xff\xff");
        assert!(matches!(
            Metadata::parse(&data),
            Err(Error::MalformedMetadata { .. })
        ));
    }
}
