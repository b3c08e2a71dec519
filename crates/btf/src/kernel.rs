//! The running kernel as a BTF validator: `bpf(BPF_BTF_LOAD)` with a log.
//! The syscall takes no base BTF, so a split BTF is checked joined onto its
//! base (types then strings concatenated: no ID or offset changes).

use super::Btf;

const BPF_BTF_LOAD: libc::c_long = 18;
const LOG_SIZE: usize = 64 << 20;

#[repr(C)]
#[derive(Default)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
    btf_log_true_size: u32,
    btf_flags: u32,
    btf_token_fd: u32,
}

/// Its size, as bpf(2) takes it.
#[allow(
    clippy::cast_possible_truncation,
    reason = "a struct of a few dozen bytes"
)]
const ATTR_SIZE: u32 = std::mem::size_of::<BtfLoadAttr>() as u32;

/// Why the kernel's `BPF_BTF_LOAD` check did not pass.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The kernel cannot be asked (no permission, no BPF, not Linux).
    #[error("BPF_BTF_LOAD unavailable here: {0}")]
    Unavailable(String),
    /// The kernel looked at the BTF and refused it.
    #[error("the kernel rejected the BTF ({errno}): {log}")]
    Rejected {
        /// The error the call returned (`EINVAL`, …).
        errno: String,
        /// The kernel's verifier log, saying why.
        log: String,
    },
}

/// A standalone blob of `btf` with its base (if any) in front.
pub fn standalone(btf: &Btf) -> Vec<u8> {
    let mut out = Vec::new();
    // writing to a Vec cannot fail
    let _ = btf.write_standalone(&mut out);
    out
}

/// Loads `blob`; on a refusal, loads it again with a verbose log and
/// returns the log's last lines (the verbose log of a vmlinux-sized BTF
/// lists every type, so it is not asked for on the first try).
pub fn load(blob: &[u8]) -> Result<(), LoadError> {
    match try_load(blob, None) {
        Ok(()) => Ok(()),
        Err(err) => {
            if matches!(
                err.raw_os_error(),
                Some(libc::EPERM) | Some(libc::ENOSYS) | Some(libc::EACCES)
            ) {
                return Err(LoadError::Unavailable(err.to_string()));
            }
            let mut log = vec![0u8; LOG_SIZE];
            let _ = try_load(blob, Some(&mut log));
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(12)..].join("\n");
            Err(LoadError::Rejected {
                errno: err.to_string(),
                log: tail,
            })
        }
    }
}

fn try_load(blob: &[u8], log: Option<&mut Vec<u8>>) -> Result<(), std::io::Error> {
    let (log_ptr, log_size, log_level) = match log {
        // the kernel writes at most this much of the buffer
        Some(l) => (
            l.as_mut_ptr() as u64,
            u32::try_from(l.len()).unwrap_or(u32::MAX),
            1,
        ),
        None => (0, 0, 0),
    };
    let attr = BtfLoadAttr {
        btf: blob.as_ptr() as u64,
        btf_log_buf: log_ptr,
        // the kernel refuses a BTF past BTF_MAX_SIZE (16 MiB) long before
        btf_size: u32::try_from(blob.len()).unwrap_or(u32::MAX),
        btf_log_size: log_size,
        btf_log_level: log_level,
        ..Default::default()
    };
    // SAFETY: `attr` points at `blob` and the log buffer, both alive for the
    // call; the size passed is the struct's.
    #[allow(
        unsafe_code,
        reason = "the bpf(2) system call, which libc does not wrap"
    )]
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_BTF_LOAD,
            &attr as *const BtfLoadAttr,
            ATTR_SIZE,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a file descriptor the kernel just gave us.
    if let Ok(fd) = libc::c_int::try_from(fd) {
        #[allow(unsafe_code, reason = "closing the raw descriptor bpf(2) returned")]
        unsafe {
            libc::close(fd)
        };
    }
    Ok(())
}
