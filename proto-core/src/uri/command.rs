//! The command lines of the tunnelled transports: the ssh argv, the shell command run on the
//! remote host (`virt-ssh-helper` or netcat), and the `ext` transport's command.

use super::{ProxyMode, RemoteTarget, Transport, UnixSocket};

impl RemoteTarget {
    /// For the SSH transports: the shell command run on the remote host (`sh -c '…'`), which
    /// starts `virt-ssh-helper` or netcat depending on [`Self::proxy`].
    #[must_use]
    pub fn remote_helper_command(&self) -> Option<String> {
        if !self.transport.is_ssh() {
            return None;
        }
        let socket = match &self.socket {
            Some(UnixSocket::Path(p)) => p.as_str(),
            _ => "",
        };
        let nc = double_shell_escape(self.params.netcat.as_deref().unwrap_or("nc"));
        let nccmd = format!(
            "if '{nc}' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'{nc}' $ARG -U {socket}"
        );
        let ro = if self.read_only { " -r " } else { " " };
        let helper = format!("virt-ssh-helper{ro}'{}'", double_shell_escape(&self.name));
        Some(match self.proxy {
            ProxyMode::Auto => format!(
                "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     {helper}; else    {nccmd}; fi'"
            ),
            ProxyMode::Netcat => format!("sh -c '{nccmd}'"),
            ProxyMode::Native => format!("sh -c '{helper}'"),
        })
    }

    /// For the `ssh` transport, the argv libvirt spawns:
    /// `ssh [-p PORT] [-l USER] [-i KEYFILE] -T -e none [-o BatchMode=yes]
    /// [-o StrictHostKeyChecking=no] -- HOST '<remote command>'`. `command=` replaces `ssh`.
    #[must_use]
    pub fn ssh_argv(&self) -> Option<Vec<String>> {
        if self.transport != Transport::Ssh {
            return None;
        }
        let mut argv = vec![self.params.command.clone().unwrap_or_else(|| "ssh".to_owned())];
        let mut opt = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                argv.extend([flag.to_owned(), v]);
            }
        };
        opt("-p", self.port.map(|p| p.to_string()));
        opt("-l", self.user.clone());
        opt("-i", self.params.keyfile.clone());
        argv.extend(["-T", "-e", "none"].map(str::to_owned));
        if self.params.no_tty {
            argv.extend(["-o", "BatchMode=yes"].map(str::to_owned));
        }
        if self.params.no_verify {
            argv.extend(["-o", "StrictHostKeyChecking=no"].map(str::to_owned));
        }
        argv.extend(["--".to_owned(), self.host.clone()]);
        argv.extend(self.remote_helper_command());
        Some(argv)
    }

    /// For the `ext` transport, the argv: just the `command=` value, not split on spaces.
    #[must_use]
    pub fn ext_argv(&self) -> Option<Vec<String>> {
        match self.transport {
            Transport::Ext => self.params.command.clone().map(|c| vec![c]),
            _ => None,
        }
    }
}

/// Quotes for `/bin/sh` only when needed (single quotes, `'` as `'\''`).
fn shell_escape(s: &str) -> String {
    if s.is_empty() {
        return "''".to_owned();
    }
    if !s.contains(|c| "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~".contains(c)) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\'");
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The remote sshd runs the command through a shell, which runs `sh -c` again: two levels.
fn double_shell_escape(s: &str) -> String {
    shell_escape(&shell_escape(s))
}
