using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Tessera.Bench.Parity;

/// <summary>GB/s of data (10^9 bytes/s) from the median time: k columns per stripe operation, or 4 KiB per partial update.</summary>
public sealed class ThroughputColumn : IColumn
{
    public string Id => "ParityGBps";

    public string ColumnName => "GB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Gigabytes (10^9 B) of data per second: data bytes / median time (robust to other load on a shared machine)";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null)
        {
            return "-";
        }

        double bytes = DataBytes(benchmarkCase);
        return (bytes / report.ResultStatistics.Median).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static double DataBytes(BenchmarkCase benchmarkCase)
    {
        string method = benchmarkCase.Descriptor.WorkloadMethod.Name;
        if (method.Contains("Update4K", StringComparison.Ordinal))
        {
            return 4096;
        }

        int k = Convert.ToInt32(benchmarkCase.Parameters["K"], System.Globalization.CultureInfo.InvariantCulture);
        int column = Convert.ToInt32(benchmarkCase.Parameters["ColumnKiB"], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return (double)k * column;
    }
}
