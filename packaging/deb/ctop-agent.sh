#!/bin/sh
# ctop-agent: the command line of the CTOP edge agent (man ctop-agent). The program lives in
# /usr/lib/ctop-agent and runs on the distribution's Node.js (package nodejs).
exec /usr/bin/node /usr/lib/ctop-agent/dist/src/cli/main.js "$@"
