from teiten.cli.main import main

main()
