"""What the command line and the REPL share: actor addressing and argument grammar, the run's settings, the
async runner, exit codes, and the files kept between runs."""
