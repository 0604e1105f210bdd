print("clowder-sink")
