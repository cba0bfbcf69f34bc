"/etc/motd – welcome":
  file.managed:
    - contents: "Grüße aus Köln — 你好 🎉"
    - comment: 'single ''quoted'' text'
emoji_🎉:
  test.nop:
    - tab: "a\tb"
    - control: "bell\u0007"
    - backslash: 'C:\path\to'
