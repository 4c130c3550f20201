// lxcprovd: see wiring/daemon.hpp.
//   lxcprovd [--config FILE] [--log stderr|journald] [--debug]

#include "wiring/daemon.hpp"

int main(int argc, char** argv) { return lxcprov::wiring::run_daemon(argc, argv); }
