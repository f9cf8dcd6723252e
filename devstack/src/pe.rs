//! netconfd PEs behind sshd: written in the next commit.
