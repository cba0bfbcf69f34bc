/etc/literal.conf:
  file.managed:
    - contents: |
        line one
          indented line
        last line
/etc/folded.conf:
  file.managed:
    - contents: >
        folded text
        continues here

        new paragraph
/etc/strip.conf:
  file.managed:
    - contents: |-
        no trailing newline
/etc/keep.conf:
  file.managed:
    - contents: |+
        keep trailing newlines


/etc/flow.conf:
  file.managed:
    - contents_pillar: null
    - contents: "double quoted
        continued"
    - source: [salt://a, 'salt://b']
    - defaults: {a: 1, b: [x, y], c: {d: e}}
    - plain_multiline: this is
        a plain multi-line
        scalar
