hashes:
  test.nop:
    - md5: {{ salt['hashutil.md5_digest']('abc') }}
    - sha256: {{ salt['hashutil.sha256_digest']('abc') }}
    - sha512: {{ salt['hashutil.sha512_digest']('abc') }}
    - b64: {{ salt['hashutil.base64_b64encode']('hello world') }}
    - unb64: {{ salt['hashutil.base64_b64decode']('aGVsbG8gd29ybGQ=') }}
