//! A user's files inside one container, through Docker's archive API, and
//! commands through exec (see the module above for the whole design).

use super::channel::{attach, quote, unbase64, Channel};
use super::*;

/// `bytes` in base64, in lines of 76 (as a here-document carries them).
fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(text.len() + text.len() / 76 + 1);
    for (i, chunk) in text.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
    }
    out
}

/// A file backend inside one container: virtual `/` is `root` there.
pub struct DockerBackend {
    pub(super) docker: Docker,
    pub(super) container: String,
    pub(super) root: String,
    /// The user `execute` runs as (`None`: the container's, root).
    pub(super) user: Option<String>,
    /// The shell its file operations go through (see `channel`).
    pub(super) files: Arc<Channel>,
}

/// One entry of a downloaded archive, relative to the directory downloaded.
struct Entry {
    rel: String,
    is_dir: bool,
    content: Vec<u8>,
}

impl DockerBackend {
    /// A backend in `container`, its file operations through `shell` (the
    /// pool container's) or a shell of its own.
    pub(super) fn new(
        docker: Docker,
        container: String,
        root: String,
        user: Option<String>,
        shell: Option<Arc<Channel>>,
    ) -> Self {
        let files =
            shell.unwrap_or_else(|| Arc::new(Channel::new(docker.clone(), container.clone())));
        Self {
            docker,
            container,
            root,
            user,
            files,
        }
    }

    fn container_path(&self, path: &str) -> SubjectResult<(String, String)> {
        if path.contains('\0') {
            return Err(SubjectError::Refused("path contains NUL".into()));
        }
        let virt = common::normalize(path);
        let full = if virt == "/" {
            self.root.clone()
        } else {
            format!("{}{virt}", self.root)
        };
        Ok((virt, full))
    }

    /// Downloads `full` (a file or a directory) as a tar archive and returns
    /// its entries with the archive's top component stripped; `None` when
    /// the path does not exist.
    async fn download(&self, full: &str, what: &str) -> SubjectResult<Option<Vec<Entry>>> {
        // `full` is normalized and absolute: its parent and its name.
        let (dir, name) = match full.rsplit_once('/') {
            Some(("", name)) => ("/", name),
            Some((dir, name)) => (dir, name),
            None => ("/", full),
        };
        // tar's status, not base64's (no pipefail in busybox's sh): fd 4
        // is the reply, tar's status comes back through fd 3.
        let script = format!(
            "(cd {} 2>/dev/null || exit 44; [ -e {n} ] || [ -L {n} ] || exit 44; \
             s=$( {{ {{ tar -cf - {n}; echo $? >&3; }} | base64 >&4; }} 3>&1 ); exit $s) 4>&1",
            quote(dir),
            n = quote(&format!("./{name}")),
        );
        let reply = self.files.run(&script, what).await?;
        match reply.status {
            0 => {}
            44 => return Ok(None),
            s => {
                return Err(SubjectError::Failed(format!(
                    "{what}: tar exited {s}: {}",
                    reply.stderr.trim()
                )))
            }
        }
        let bytes =
            unbase64(&reply.stdout).map_err(|e| SubjectError::Failed(format!("{what}: {e}")))?;
        let mut out = Vec::new();
        let mut archive = tar::Archive::new(&bytes[..]);
        let entries = archive
            .entries()
            .map_err(|e| SubjectError::Failed(format!("{what}: bad archive: {e}")))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| SubjectError::Failed(format!("{what}: bad archive: {e}")))?;
            let kind = entry.header().entry_type();
            let path = entry
                .path()
                .map_err(|e| SubjectError::Failed(format!("{what}: bad archive: {e}")))?
                .to_string_lossy()
                .into_owned();
            // Entries are `./name/...` (a name may start with `-`).
            let path = path.strip_prefix("./").unwrap_or(&path);
            let rel = match path.trim_end_matches('/').split_once('/') {
                Some((_, rest)) => rest.to_string(),
                None => String::new(),
            };
            let mut content = Vec::new();
            if kind.is_file() {
                std::io::Read::read_to_end(&mut entry, &mut content)
                    .map_err(|e| SubjectError::Failed(format!("{what}: bad archive: {e}")))?;
            } else if !kind.is_dir() {
                continue; // links and special files are not followed
            }
            out.push(Entry {
                rel,
                is_dir: kind.is_dir(),
                content,
            });
        }
        Ok(Some(out))
    }

    /// Every regular file of the workspace: (virtual path, content).
    async fn walk(&self) -> SubjectResult<Vec<(String, Vec<u8>)>> {
        let entries = self
            .download(&self.root, "listing the workspace")
            .await?
            .unwrap_or_default();
        let mut files: Vec<_> = entries
            .into_iter()
            .filter(|e| !e.is_dir && !e.rel.is_empty())
            .map(|e| (format!("/{}", e.rel), e.content))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files)
    }

    async fn upload(&self, virt: &str, content: &[u8]) -> SubjectResult<()> {
        let rel = virt.trim_start_matches('/');
        let mut builder = tar::Builder::new(Vec::new());
        let mtime = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let tar_err = |e: std::io::Error| SubjectError::Failed(format!("{virt}: tar: {e}"));
        // Parent directories first, so the upload never depends on them existing.
        let segs: Vec<&str> = rel.split('/').collect();
        for i in 1..segs.len() {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime(mtime);
            builder
                .append_data(
                    &mut h,
                    format!("{}/", segs[..i].join("/")),
                    std::io::empty(),
                )
                .map_err(tar_err)?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(content.len() as u64);
        h.set_mtime(mtime);
        builder.append_data(&mut h, rel, content).map_err(tar_err)?;
        let body = builder.into_inner().map_err(tar_err)?;
        let script = format!(
            "base64 -d <<'@@EOF' | tar -xf - -C {}\n{}\n@@EOF",
            quote(&self.root),
            base64_lines(&body),
        );
        let what = format!("writing {virt}");
        let reply = self.files.run(&script, &what).await?;
        match reply.status {
            0 => Ok(()),
            s => Err(SubjectError::Failed(format!(
                "{what}: tar exited {s}: {}",
                reply.stderr.trim()
            ))),
        }
    }

    /// Runs `argv` in the container in directory `cwd` (see [`exec_in`]).
    pub(super) async fn exec(
        &self,
        argv: Vec<String>,
        cwd: &str,
        limit: Duration,
    ) -> SubjectResult<ExecResult> {
        exec_in(&self.docker, &self.container, argv, cwd, limit).await
    }
}

/// Runs `argv` in `container` in directory `cwd` as the container's user;
/// output is stdout and stderr interleaved as they come, capped at 64 KiB.
pub(super) async fn exec_in(
    docker: &Docker,
    container: &str,
    argv: Vec<String>,
    cwd: &str,
    limit: Duration,
) -> SubjectResult<ExecResult> {
    exec_as(docker, container, argv, cwd, limit, None).await
}

/// [`exec_in`] as `user` (`uid:gid`), or the container's user for `None`.
pub(super) async fn exec_as(
    docker: &Docker,
    container: &str,
    argv: Vec<String>,
    cwd: &str,
    limit: Duration,
    user: Option<&str>,
) -> SubjectResult<ExecResult> {
    {
        let opts = CreateExecOptions {
            cmd: Some(argv),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            working_dir: Some(cwd.to_string()),
            user: user.map(str::to_string),
            ..Default::default()
        };
        let (id, mut output, _) = attach(docker, container, opts, "execute").await?;
        let mut bytes = Vec::new();
        let mut truncated = false;
        let collect = async {
            while let Some(item) = output.next().await {
                let msg = item.map_err(|e| engine_err("execute", e))?;
                let chunk = msg.into_bytes();
                if bytes.len() + chunk.len() > MAX_OUTPUT {
                    bytes.extend_from_slice(&chunk[..MAX_OUTPUT - bytes.len()]);
                    truncated = true;
                    break;
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok::<(), SubjectError>(())
        };
        match tokio::time::timeout(limit, collect).await {
            Ok(r) => r?,
            Err(_) => truncated = true,
        }
        drop(output);
        let inspect = docker
            .inspect_exec(&id)
            .await
            .map_err(|e| engine_err("execute", e))?;
        let exit_code = match inspect.running {
            Some(true) => None,
            _ => inspect.exit_code.map(|c| c as i32),
        };
        Ok(ExecResult {
            output: String::from_utf8_lossy(&bytes).into_owned(),
            exit_code,
            truncated,
        })
    }
}

#[async_trait]
impl Backend for DockerBackend {
    async fn ls_info(&self, path: &str) -> SubjectResult<Vec<FileInfo>> {
        let (virt, full) = self.container_path(path)?;
        let Some(entries) = self.download(&full, &format!("listing {virt}")).await? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<FileInfo> = entries
            .into_iter()
            .filter(|e| !e.rel.is_empty() && !e.rel.contains('/'))
            .map(|e| FileInfo {
                path: common::join(&virt, &e.rel),
                is_dir: e.is_dir,
                size: (!e.is_dir).then_some(e.content.len() as u64),
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn read(&self, path: &str, offset: usize, limit: usize) -> SubjectResult<String> {
        Ok(common::format_read(
            &self.read_bytes(path).await?,
            offset,
            limit,
        ))
    }

    async fn read_bytes(&self, path: &str) -> SubjectResult<Vec<u8>> {
        let (virt, full) = self.container_path(path)?;
        let entries = self
            .download(&full, &format!("reading {virt}"))
            .await?
            .ok_or_else(|| SubjectError::NotFound(virt.clone()))?;
        match entries.into_iter().next() {
            Some(e) if e.is_dir => Err(SubjectError::Failed(format!("{virt} is a directory"))),
            Some(e) => Ok(e.content),
            None => Err(SubjectError::NotFound(virt)),
        }
    }

    async fn write(&self, path: &str, content: &str) -> SubjectResult<()> {
        let (virt, _) = self.container_path(path)?;
        if virt == "/" {
            return Err(SubjectError::Failed("cannot write to /".into()));
        }
        self.upload(&virt, content.as_bytes()).await
    }

    async fn edit(
        &self,
        path: &str,
        old: &str,
        new: &str,
        replace_all: bool,
    ) -> SubjectResult<usize> {
        let (virt, _) = self.container_path(path)?;
        let content = self.read_bytes(&virt).await?;
        let (updated, n) = common::apply_edit(&content, old, new, replace_all, &virt)?;
        self.upload(&virt, updated.as_bytes()).await?;
        Ok(n)
    }

    async fn glob_info(&self, pattern: &str, path: &str) -> SubjectResult<Vec<FileInfo>> {
        let (base, _) = self.container_path(path)?;
        let files = self.walk().await?;
        common::glob_files(
            files.iter().map(|(p, c)| (p.as_str(), c.len() as u64)),
            pattern,
            &base,
        )
    }

    async fn grep_raw(
        &self,
        pattern: &str,
        path: Option<&str>,
        glob: Option<&str>,
    ) -> SubjectResult<Vec<GrepMatch>> {
        if let Some(p) = path {
            self.container_path(p)?;
        }
        let query = GrepQuery::new(pattern, path, glob)?;
        let mut out = Vec::new();
        for (p, content) in self.walk().await?.iter().filter(|(p, _)| query.wants(p)) {
            query.search(p, content, &mut out);
        }
        Ok(out)
    }

    async fn exists(&self, path: &str) -> SubjectResult<bool> {
        let (virt, full) = self.container_path(path)?;
        let script = format!("[ -e {q} ] || [ -L {q} ]", q = quote(&full));
        let reply = self.files.run(&script, &format!("exists {virt}")).await?;
        Ok(reply.status == 0)
    }

    async fn execute(&self, command: &str, timeout: Option<Duration>) -> SubjectResult<ExecResult> {
        let secs = timeout.unwrap_or(Duration::from_secs(10)).as_secs().max(1);
        let argv = vec![
            "timeout".to_string(),
            secs.to_string(),
            "sh".to_string(),
            "-c".to_string(),
            command.to_string(),
        ];
        // The in-container timeout kills the command; this one only guards
        // against an engine that stops answering.
        let limit = Duration::from_secs(secs + 5);
        exec_as(
            &self.docker,
            &self.container,
            argv,
            &self.root,
            limit,
            self.user.as_deref(),
        )
        .await
    }
}
