#!/bin/sh
echo "hello $1"
echo "arguments: $#" >> ran.out
