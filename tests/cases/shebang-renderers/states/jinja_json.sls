#!jinja|json
{
  "jinja_json": {
    "test.nop": [
      {"id": "{{ grains['id'] }}"},
      {"items": [{% for i in range(3) %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}]},
      {"float": 1.50}
    ]
  }
}
