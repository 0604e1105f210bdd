import Ingest
print("clowder-ingest")
