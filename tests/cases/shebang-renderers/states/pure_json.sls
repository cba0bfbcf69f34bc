#!json
{
  "pure_json": {
    "test.nop": [
      {"text": "{{ literal }}"},
      {"nested": {"b": 1, "a": [true, null]}}
    ]
  },
  "second_json": {"pkg.installed": []}
}
