{
  "from_json_renderer": {
    "test.nop": [{"id": "{{ grains['id'] }}"}]
  }
}
