#!py
def run():
    return {"from_python": {"test.nop": [{"x": 1}]}}
