module singlewindow/bench/loadgen

go 1.22
