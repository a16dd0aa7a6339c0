from v2a_cli.cli import main

main()
