from fibe_cli.main import main

main()
