# SPDX-License-Identifier: MIT
# Types each line into an interactive zsh (on a pty), presses TAB, and prints what the
# screen shows: zsh runs its completion system only inside the line editor.
# usage: zsh -f zsh_driver.zsh FPATH_DIR 'ftx serve --ov' ...
zmodload zsh/zpty
typeset -F SECONDS  # fractions of a second for the waits below
# No pseudo-terminal (a chroot without /dev/pts, some build daemons): nothing to drive.
zpty z zsh -f -i 2>/dev/null || { print NO_PTY; exit 0 }
zpty -w z "PS1='%% ' PROMPT_EOL_MARK=''; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D; setopt NO_LIST_AMBIGUOUS NO_BEEP; ftx() { :; }; print READY\$((40 + 2))"
shift

collect() {  # what the pty prints until pattern $1, or until quiet for $2 s (at most 8 s)
  local chunk buf= quiet_since=$SECONDS deadline=$(( SECONDS + 8 ))
  while (( SECONDS < deadline )); do
    if zpty -r -t z chunk; then
      buf+=$chunk
      quiet_since=$SECONDS
    fi
    [[ -n $1 && $buf == *$~1* ]] && break
    [[ -z $1 && -n $buf ]] && (( SECONDS - quiet_since > $2 )) && break
    sleep 0.05
  done
  REPLY=$buf
}

collect READY42 0  # the output, not the echo of the line that prints it
for line in "$@"; do
  zpty -n -w z "$line"$'\t'
  collect '' 0.5
  print -r -- "LINE [$line] => ${(q+)${REPLY//$'\e'\[[0-9;?]#[a-zA-Z]/}}"
  zpty -n -w z $'\C-u'
  collect '' 0.2
done
zpty -d z
