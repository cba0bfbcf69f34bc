#!json
{"b": {"test.nop": []}, "a": {"test.nop": [{"x": 1.5}]}}
