//! Loaded declaration files and byte spans into them.

use std::ops::Range;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileId(pub u32);

/// A byte range in one loaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }
}

#[derive(Debug)]
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// String literals that look like secrets; masked in snippets.
    pub sensitive: Vec<Range<usize>>,
}

impl SourceFile {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, column + 1)
    }

    pub fn display_name(&self) -> String {
        let cwd = std::env::current_dir().ok();
        match cwd.as_ref().and_then(|c| self.path.strip_prefix(c).ok()) {
            Some(rel) => rel.display().to_string(),
            None => self.path.display().to_string(),
        }
    }

    /// The text with sensitive literals replaced by `*`, byte for byte, so
    /// that spans and line numbers stay valid.
    pub fn redacted(&self) -> String {
        let mut bytes = self.text.clone().into_bytes();
        for r in &self.sensitive {
            let end = r.end.min(bytes.len());
            for b in bytes.get_mut(r.start..end).into_iter().flatten() {
                if *b != b'\n' {
                    *b = b'*';
                }
            }
        }
        // Masking whole UTF-8 sequences byte-wise keeps the text valid except
        // at range edges inside a multi-byte character; repair those lossily.
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        self.files.push(SourceFile {
            path,
            text,
            line_starts,
            sensitive: Vec::new(),
        });
        FileId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn get_mut(&mut self, id: FileId) -> Option<&mut SourceFile> {
        self.files.get_mut(id.0 as usize)
    }
}

/// Declaration files larger than this are refused unread (a deployment
/// declaration is a few kilobytes; this keeps `--config /dev/zero` from
/// exhausting memory).
pub(crate) const MAX_SOURCE_BYTES: u64 = crate::limits::MAX_DECLARATION_BYTES;

/// Why a declaration file could not be taken as text.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The file could not be read at all (missing, a directory, no permission).
    Io(std::io::Error),
    /// Read, but larger than [`MAX_SOURCE_BYTES`].
    TooLarge,
    /// Read, but not UTF-8: the text up to and including the bad bytes
    /// (replaced), and the byte offset of the first invalid sequence.
    NotUtf8 { lossy: String, offset: usize },
}

/// Reads a declaration file as text, telling a missing file, a directory, an
/// oversized file and invalid UTF-8 apart.
pub(crate) fn read_source(path: &std::path::Path) -> Result<String, ReadError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if meta.is_dir() {
        return Err(ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        ReadError::NotUtf8 {
            lossy: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            offset,
        }
    })
}
