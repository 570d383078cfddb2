# hello-python: a plain Python program run once per request by the classic watchdog. The request
# body arrives on stdin; whatever the program prints is the response. Http_Method, Http_Path,
# Http_Query and one Http_<Header> variable per request header describe the request.
import json
import os
import sys

text = sys.stdin.read()
words = text.split()
json.dump(
    {"words": len(words), "characters": len(text), "method": os.environ.get("Http_Method", "")},
    sys.stdout,
)
