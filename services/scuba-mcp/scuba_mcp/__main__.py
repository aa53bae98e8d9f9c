from scuba_mcp.server import main

main()
