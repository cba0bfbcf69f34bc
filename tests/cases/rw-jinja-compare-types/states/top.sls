base:
  '*':
    - intstr
