//! Reading the files of a corpus directory (an extracted `aclImdb/`, `ag_news_csv/`, a folder
//! holding `Tweets.csv`) without leaving it and with bounded memory.
//!
//! - A symbolic link whose target lies outside the directory is not followed: it is skipped,
//!   counted, and reported in one warning per directory ("skipped N symbolic links pointing
//!   outside DIR"), so a link to `/etc/passwd` never reaches a tokenizer.
//! - Only regular files are read (a FIFO or a device such as `/dev/zero` is skipped).
//! - A file over [`LoadOptions::max_member_bytes`] is refused from its metadata before it is
//!   read ([`Error::MemberTooLarge`]); the bytes read from one directory are capped at
//!   [`LoadOptions::max_archive_bytes`] ([`Error::ArchiveTooLarge`]); reads go through a bounded
//!   `take`, so a file growing while it is read cannot make them longer.

use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::options::LoadOptions;

/// What an entry of a corpus directory must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// A corpus directory being read (see the module docs).
pub struct CorpusDir {
    /// The directory as given, for messages.
    root: PathBuf,
    /// Its canonical path: every entry must resolve under it.
    canonical: PathBuf,
    /// Symbolic links skipped because they point outside.
    skipped_links: usize,
    /// Bytes read so far.
    read: u64,
    max_member: u64,
    max_total: u64,
}

impl CorpusDir {
    /// Opens `root` (which may itself be a symbolic link: the user named it).
    pub fn open(root: &Path, opts: &LoadOptions) -> Result<Self> {
        let canonical = root.canonicalize().map_err(|e| Error::io(root, e))?;
        Ok(Self {
            root: root.to_path_buf(),
            canonical,
            skipped_links: 0,
            read: 0,
            max_member: opts.max_member_bytes,
            max_total: opts.max_archive_bytes,
        })
    }

    /// `path` (under the directory) when it is a `kind` whose real location is inside the
    /// directory; `None` when it is missing, of another kind, or a symbolic link (here or in a
    /// parent) that leads outside (counted for the warning).
    pub fn entry(&mut self, path: &Path, kind: Kind) -> Option<PathBuf> {
        let link = std::fs::symlink_metadata(path)
            .ok()?
            .file_type()
            .is_symlink();
        let real = path.canonicalize().ok()?;
        if !real.starts_with(&self.canonical) {
            // Only a symbolic link (`path` is built from the root without `..`) leads out.
            self.skipped_links += 1;
            return None;
        }
        let meta = std::fs::metadata(&real).ok()?;
        let fits = match kind {
            Kind::File => meta.file_type().is_file(),
            Kind::Dir => meta.file_type().is_dir(),
        };
        fits.then(|| if link { real } else { path.to_path_buf() })
    }

    /// The regular files directly in `dir` (an entry of this directory) that [`Self::entry`]
    /// accepts, sorted by name.
    pub fn files_in(&mut self, dir: &Path) -> Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
            // A plain entry of a directory already checked to be inside needs no resolving.
            let found = if file_type.is_symlink() {
                self.entry(&path, Kind::File)
            } else {
                file_type.is_file().then_some(path)
            };
            if let Some(p) = found {
                out.push((name, p));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The bytes of `path` (an entry of this directory), within the limits.
    pub fn read(&mut self, path: &Path) -> Result<Vec<u8>> {
        let member = || {
            path.strip_prefix(&self.root)
                .unwrap_or(path)
                .display()
                .to_string()
        };
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if size > self.max_member {
            return Err(Error::MemberTooLarge {
                archive: self.root.display().to_string(),
                member: member(),
                size,
                limit: self.max_member,
            });
        }
        if self.read.saturating_add(size) > self.max_total {
            return Err(Error::ArchiveTooLarge {
                archive: self.root.display().to_string(),
                member: member(),
                limit: self.max_total,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(self.max_member)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
        self.read += bytes.len() as u64;
        Ok(bytes)
    }

    /// How many symbolic links leading outside were skipped so far.
    pub fn skipped_links(&self) -> usize {
        self.skipped_links
    }

    /// Reports the skipped symbolic links, once.
    pub fn finish(&self) {
        if self.skipped_links > 0 {
            tracing::warn!(
                "skipped {} symbolic links pointing outside {}",
                self.skipped_links,
                self.root.display()
            );
        }
    }
}

/// In the first of `dirs` that is a directory holding `names[0]` as a regular file (directly or
/// through a symbolic link that stays inside it), the entry of each of `names` there (see
/// [`CorpusDir::entry`]; links leading out are counted in that directory's warning). `None`
/// when no directory holds `names[0]`.
pub fn first_with(
    dirs: &[PathBuf],
    names: &[&str],
    opts: &LoadOptions,
) -> Option<Vec<Option<PathBuf>>> {
    for dir in dirs {
        if !dir.is_dir() {
            continue;
        }
        let Ok(mut corpus) = CorpusDir::open(dir, opts) else {
            continue;
        };
        let found: Vec<Option<PathBuf>> = names
            .iter()
            .map(|name| corpus.entry(&dir.join(name), Kind::File))
            .collect();
        corpus.finish();
        if found.first().is_some_and(Option::is_some) {
            return Some(found);
        }
    }
    None
}

/// A reader that adds the bytes it yields to a shared `count` and fails once the count passes
/// `limit`: the bound on what an archive may decompress (the count never reset) or on what
/// one csv record may make the csv reader buffer (the consumer resets the count after each
/// record). The consumer tells this failure from others by `count > limit`.
pub(crate) struct CountingReader<R> {
    pub(crate) inner: R,
    pub(crate) count: Rc<Cell<u64>>,
    pub(crate) limit: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        if self.count.get() > self.limit {
            return Err(std::io::Error::other("read limit reached"));
        }
        Ok(n)
    }
}
