//! Text to datagrams and back, in the wire encoding, so that the notes' Python chat
//! (`.encode('gbk')`, `recvfrom(1024)`, `.decode('gbk')`) can read everything this tool sends,
//! and nothing a peer sends can make this tool fail.
//!
//! **Why not plain `encoding_rs::GBK`.** encoding_rs implements WHATWG's `gbk`: the GB18030
//! two-byte table with 0x80 as €. Python's `gbk` is the older GBK table. Running python3 over
//! every code point and every two-byte sequence and comparing with encoding_rs 0.8.44 shows
//! that Python's table is a strict subset of encoding_rs's, with the same bytes for every
//! character both have. encoding_rs has, and Python's `gbk` lacks:
//! - 2,066 characters of the private-use area (U+E000–U+F8FF), which GB18030 puts at the
//!   user-defined codes (AAA1–AFFE, F8A1–FEFE, A140–A7A0) and at some unassigned ones (A2AB–A2B0,
//!   D7FA–D7FE, ...);
//! - [`NOT_IN_PYTHON_GBK`], 100 characters: U+20AC € as the single byte 0x80, and the characters
//!   GB18030 added at A6D9–A6F3, A8BC, A8BF, A989–A995 and FE50–FEA0 (vertical punctuation
//!   U+FE10–FE19, ideographic description characters, CJK radicals, extension-A ideographs);
//! - the decoding of A3A0 as U+3000 (Python's U+3000 is A1A1 only);
//! - four-byte GB18030 sequences (only when decoding: WHATWG's gbk encoder never writes them).
//!
//! So a character is sent as GBK only if encoding_rs encodes it and it is in neither list; a
//! two-byte sequence is decoded only if it is the encoding of such a character. Everything
//! else becomes `?` when sending (Python's `errors='replace'`) and U+FFFD when receiving, one
//! per byte that starts no character, as Python's `.decode('gbk', 'replace')` does.

use clap::ValueEnum;
use std::borrow::Cow;

/// The largest datagram the notes' Python chat receives whole: `recvfrom(1024)`.
pub(crate) const PYTHON_RECV_SIZE: usize = 1024;

/// What a character that the wire encoding lacks is sent as, like Python's `errors='replace'`.
const REPLACEMENT: &[u8] = b"?";

/// Characters outside the private-use area that encoding_rs encodes as GBK and Python's `gbk`
/// cannot decode (found by comparing the two over every code point).
const NOT_IN_PYTHON_GBK: &[(char, char)] = &[
    ('\u{01F9}', '\u{01F9}'),
    ('\u{1E3F}', '\u{1E3F}'),
    ('\u{20AC}', '\u{20AC}'),
    ('\u{2E81}', '\u{2E81}'),
    ('\u{2E84}', '\u{2E84}'),
    ('\u{2E88}', '\u{2E88}'),
    ('\u{2E8B}', '\u{2E8C}'),
    ('\u{2E97}', '\u{2E97}'),
    ('\u{2EA7}', '\u{2EA7}'),
    ('\u{2EAA}', '\u{2EAA}'),
    ('\u{2EAE}', '\u{2EAE}'),
    ('\u{2EB3}', '\u{2EB3}'),
    ('\u{2EB6}', '\u{2EB7}'),
    ('\u{2EBB}', '\u{2EBB}'),
    ('\u{2ECA}', '\u{2ECA}'),
    ('\u{2FF0}', '\u{2FFB}'),
    ('\u{303E}', '\u{303E}'),
    ('\u{3447}', '\u{3447}'),
    ('\u{3473}', '\u{3473}'),
    ('\u{359E}', '\u{359E}'),
    ('\u{360E}', '\u{360E}'),
    ('\u{361A}', '\u{361A}'),
    ('\u{3918}', '\u{3918}'),
    ('\u{396E}', '\u{396E}'),
    ('\u{39CF}', '\u{39D0}'),
    ('\u{39DF}', '\u{39DF}'),
    ('\u{3A73}', '\u{3A73}'),
    ('\u{3B4E}', '\u{3B4E}'),
    ('\u{3C6E}', '\u{3C6E}'),
    ('\u{3CE0}', '\u{3CE0}'),
    ('\u{4056}', '\u{4056}'),
    ('\u{415F}', '\u{415F}'),
    ('\u{4337}', '\u{4337}'),
    ('\u{43AC}', '\u{43AC}'),
    ('\u{43B1}', '\u{43B1}'),
    ('\u{43DD}', '\u{43DD}'),
    ('\u{44D6}', '\u{44D6}'),
    ('\u{464C}', '\u{464C}'),
    ('\u{4661}', '\u{4661}'),
    ('\u{4723}', '\u{4723}'),
    ('\u{4729}', '\u{4729}'),
    ('\u{477C}', '\u{477C}'),
    ('\u{478D}', '\u{478D}'),
    ('\u{4947}', '\u{4947}'),
    ('\u{497A}', '\u{497A}'),
    ('\u{497D}', '\u{497D}'),
    ('\u{4982}', '\u{4983}'),
    ('\u{4985}', '\u{4986}'),
    ('\u{499B}', '\u{499B}'),
    ('\u{499F}', '\u{499F}'),
    ('\u{49B6}', '\u{49B7}'),
    ('\u{4C77}', '\u{4C77}'),
    ('\u{4C9F}', '\u{4CA3}'),
    ('\u{4D13}', '\u{4D19}'),
    ('\u{4DAE}', '\u{4DAE}'),
    ('\u{9FB4}', '\u{9FBB}'),
    ('\u{FE10}', '\u{FE19}'),
];

/// The text encoding on the wire.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Wire {
    /// GBK as Python's `gbk` codec reads it (the notes' choice).
    Gbk,
    /// UTF-8.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
}

/// A line, ready to send.
pub(crate) struct Encoded {
    /// Each at most [`PYTHON_RECV_SIZE`] bytes, cut between characters.
    pub(crate) datagrams: Vec<Vec<u8>>,
    /// The characters the encoding lacks, each sent as `?`.
    pub(crate) replaced: Vec<char>,
}

/// A datagram, as text.
pub(crate) struct Decoded {
    pub(crate) text: String,
    /// Bytes that were not valid in the encoding, each shown as U+FFFD.
    pub(crate) invalid_bytes: usize,
}

impl Wire {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Wire::Gbk => "GBK",
            Wire::Utf8 => "UTF-8",
        }
    }

    /// Encodes `line`, one character at a time, into datagrams the Python chat receives whole.
    pub(crate) fn encode(self, line: &str) -> Encoded {
        let mut encoded = Encoded {
            datagrams: Vec::new(),
            replaced: Vec::new(),
        };
        let mut datagram = Vec::new();
        let mut utf8 = [0; 4];
        for c in line.chars() {
            let bytes = match self {
                Wire::Utf8 => Some(Cow::Borrowed(c.encode_utf8(&mut utf8).as_bytes())),
                Wire::Gbk => python_gbk_encode(c),
            };
            let bytes = bytes.unwrap_or_else(|| {
                encoded.replaced.push(c);
                Cow::Borrowed(REPLACEMENT)
            });
            if datagram.len() + bytes.len() > PYTHON_RECV_SIZE {
                encoded.datagrams.push(std::mem::take(&mut datagram));
            }
            datagram.extend_from_slice(&bytes);
        }
        if !datagram.is_empty() {
            encoded.datagrams.push(datagram);
        }
        encoded
    }

    /// Decodes a datagram; never fails.
    pub(crate) fn decode(self, bytes: &[u8]) -> Decoded {
        match self {
            Wire::Utf8 => {
                let mut decoded = Decoded {
                    text: String::with_capacity(bytes.len()),
                    invalid_bytes: 0,
                };
                for chunk in bytes.utf8_chunks() {
                    decoded.text.push_str(chunk.valid());
                    if !chunk.invalid().is_empty() {
                        decoded.text.push(char::REPLACEMENT_CHARACTER);
                        decoded.invalid_bytes += chunk.invalid().len();
                    }
                }
                decoded
            }
            Wire::Gbk => python_gbk_decode(bytes),
        }
    }
}

/// A character's bytes in Python's `gbk`, or `None` if Python's table lacks it.
fn python_gbk_encode(c: char) -> Option<Cow<'static, [u8]>> {
    if c.is_ascii() {
        return Some(Cow::Owned(vec![c as u8]));
    }
    let private_use = ('\u{E000}'..='\u{F8FF}').contains(&c);
    if private_use
        || NOT_IN_PYTHON_GBK
            .iter()
            .any(|(a, b)| (*a..=*b).contains(&c))
    {
        return None;
    }
    let mut utf8 = [0; 4];
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut utf8));
    (!unmappable).then(|| Cow::Owned(bytes.into_owned()))
}

/// Python's `bytes.decode('gbk', 'replace')`: a byte that starts no character in Python's table
/// becomes one U+FFFD and decoding goes on at the next byte.
fn python_gbk_decode(bytes: &[u8]) -> Decoded {
    let mut decoded = Decoded {
        text: String::with_capacity(bytes.len()),
        invalid_bytes: 0,
    };
    let mut rest = bytes;
    while let Some((&first, tail)) = rest.split_first() {
        if first.is_ascii() {
            decoded.text.push(first as char);
            rest = tail;
        } else if let Some(c) = tail
            .first()
            .and_then(|&second| python_gbk_pair(first, second))
        {
            decoded.text.push(c);
            rest = &tail[1..];
        } else {
            decoded.text.push(char::REPLACEMENT_CHARACTER);
            decoded.invalid_bytes += 1;
            rest = tail;
        }
    }
    decoded
}

/// The character a two-byte sequence is in Python's `gbk`: the one encoding_rs decodes it to,
/// if Python has that character and encodes it as these same two bytes.
fn python_gbk_pair(lead: u8, trail: u8) -> Option<char> {
    let pair = [lead, trail];
    let text = encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(&pair)?;
    let mut chars = text.chars();
    let c = chars.next().filter(|_| chars.next().is_none())?;
    python_gbk_encode(c).filter(|bytes| **bytes == pair)?;
    Some(c)
}
