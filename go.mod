module github.com/smd-media/smd

go 1.26.8
