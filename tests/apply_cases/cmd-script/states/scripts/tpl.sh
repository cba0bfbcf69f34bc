#!/bin/sh
echo "hi from {{ who }} on {{ grains['id'] }}"
