// SPDX-License-Identifier: MIT
// The ftx binary: only wiring; everything else lives in libftx.
#include "cli/commands.h"

int main(int argc, char** argv) { return ftx::cli::main(argc, argv); }
